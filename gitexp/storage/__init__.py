"""Storage remotes: backends behind one small interface, and transfers to and from them."""
