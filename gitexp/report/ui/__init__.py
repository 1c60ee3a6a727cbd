"""``gitexp ui``: the report's views as a local web app, live while runs go on.

`source` says what the app asks of the repository, `state` keeps the page data current
(`rows` makes again only the rows that changed, `columns` packs them), `guard` decides
who may read and write, `app` is the ASGI application and `server` binds the port and
runs it under uvicorn (the ``ui`` extra, imported only here).
"""
