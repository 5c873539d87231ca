"""The review dashboard: a server-rendered web app to triage findings and act on them.

``create_app`` (rightswatch/review/app.py) builds the ASGI app; ``rightswatch review`` serves it.
"""
