"""The store's Alembic environment: env.py, the revision template and versions/.

Shipped inside the package (`script_location = feedsvc.store:migrations`), so an
installed feedsvc can upgrade a store with no checkout beside it. The code that
decides when to migrate lives in `feedsvc.store.schema`; this package only holds what
Alembic reads.
"""
