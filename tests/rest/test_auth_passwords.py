"""Password policy over REST: the most common passwords are refused with the field named."""

from __future__ import annotations

from tests.rest.conftest import Client, error_of


async def test_sign_up_with_a_common_password_is_422_naming_the_field(anon: Client) -> None:
    response = await anon.post(
        "/api/auth/register", json={"email": "ada@example.com", "password": "Password123"}
    )
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "validation_error" and error["field"] == "password"
    assert error["message"].startswith("is one of the most common passwords")
    strong = await anon.post(
        "/api/auth/register", json={"email": "ada@example.com", "password": "plum ferry 47 kite"}
    )
    assert strong.status_code == 201, strong.text
