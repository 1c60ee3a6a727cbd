"""The one place that talks to pygit2 and the git executable."""
