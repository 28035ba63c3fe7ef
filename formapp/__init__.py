"""The residents' public proposal form: a small Starlette app of its own (`python -m formapp`).

It never opens the database. It reads only what the staff side publishes in SC_PUBLIC_DIR
(placements.json, status.json, decisions.json; see pipeline/public.py) and hands every accepted
proposal to the ingest path as one spool folder in SC_INBOX (pipeline/inbox.py), which the staff
app drains, classifies and stores whenever it runs. So it can be put on the internet alone and
keeps accepting while the staff app is down.
"""
