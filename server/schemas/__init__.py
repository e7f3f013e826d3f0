"""Pydantic schemas of the API's request and response bodies (apart from the SQL tables)."""
