"""The HTTP face of filegate: FastAPI app factory, schemas, routes and error mapping."""
