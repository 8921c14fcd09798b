"""The flask-jwt-extended side of benches/load/flask.sh: the same three routes as load_server.

GET /protected is @jwt_required() returning the identity; GET /unprotected the same handler
without it; POST /login mints an access token. The secret comes from JWT_SECRET_KEY.
"""
import os
from datetime import timedelta

from flask import Flask
from flask_jwt_extended import JWTManager, create_access_token, get_jwt_identity, jwt_required

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["JWT_SECRET_KEY"]
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(hours=1)
JWTManager(app)


@app.get("/unprotected")
def unprotected():
    return "alice"


@app.get("/protected")
@jwt_required()
def protected():
    return get_jwt_identity()


@app.post("/login")
def login():
    return create_access_token(identity="alice")
