"""Drives a client that openapi-python-client generated from examples/openapi.rs's document
against the running example: log in, call protected operations, and receive the documented
401/403/422 refusals as the generated models (tests/openapi.rs runs it).

Usage: python3 generated_client.py <base URL> <directory holding the package> <package name>
Prints one JSON line of what it saw; exits non-zero on the first mismatch.
"""

import importlib
import json
import sys

base, directory, package = sys.argv[1:4]
sys.path.insert(0, directory)
client_module = importlib.import_module(package)
models = importlib.import_module(f"{package}.models")


def operation(name):
    return importlib.import_module(f"{package}.api.default.{name}")


login_api = operation("post_api_login")
me_api = operation("get_api_me")
admin_api = operation("get_api_admin")
greeting_api = operation("get_api_greeting")

# An undocumented status raises: every answer below must be one the document declares.
anonymous = client_module.Client(base_url=base, raise_on_unexpected_status=True)


def as_user(token):
    return client_module.AuthenticatedClient(
        base_url=base, token=token, raise_on_unexpected_status=True
    )


def expect(condition, what):
    if not condition:
        sys.exit(f"generated client: {what}")


def login(name):
    return login_api.sync_detailed(client=anonymous, body=models.Login(username=name))


seen = {}

ann = login("ann")
expect(ann.status_code == 200, f"login ann: {ann.status_code} {ann.content!r}")
expect(isinstance(ann.parsed, models.Tokens), f"login ann parsed as {type(ann.parsed)}")
bob = login("bob").parsed
expect(isinstance(bob, models.Tokens), "login bob")
mallory = login("mallory")
expect(mallory.status_code == 401, f"login mallory: {mallory.status_code}")
seen["login_refused"] = mallory.parsed

me = me_api.sync_detailed(client=as_user(ann.parsed.access_token))
expect(me.status_code == 200, f"me: {me.status_code} {me.content!r}")
seen["me"] = me.parsed

admin = admin_api.sync_detailed(client=as_user(ann.parsed.access_token))
expect(admin.status_code == 200, f"admin as ann: {admin.status_code}")
seen["admin"] = admin.parsed


def refusal(response, model):
    """A refusal parsed into the operation's generated model, and nothing else in the body."""
    expect(
        isinstance(response.parsed, model),
        f"{response.status_code} parsed as {type(response.parsed).__name__}, not {model.__name__}",
    )
    expect(response.parsed.additional_keys == [], f"unexpected keys {response.parsed.additional_keys}")
    return {"status": int(response.status_code), "model": model.__name__, "msg": response.parsed.msg}


seen["admin_as_bob"] = refusal(
    admin_api.sync_detailed(client=as_user(bob.access_token)), models.GetApiAdminResponse403
)
seen["me_anonymous"] = refusal(me_api.sync_detailed(client=anonymous), models.GetApiMeResponse401)
seen["me_bad_token"] = refusal(
    me_api.sync_detailed(client=as_user("not-a-token")), models.GetApiMeResponse422
)
seen["greeting_bad_token"] = refusal(
    greeting_api.sync_detailed(client=as_user("not-a-token")), models.GetApiGreetingResponse422
)
greeting = greeting_api.sync_detailed(client=anonymous)
expect(greeting.status_code == 200, f"greeting: {greeting.status_code}")
seen["greeting_anonymous"] = greeting.parsed

print(json.dumps(seen, sort_keys=True))
