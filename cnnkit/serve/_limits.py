"""An ASGI middleware that refuses request bodies over a size limit with 413, without reading them."""

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse


class BodySizeLimit:
    """Answers 413 when Content-Length says the body is over `max_bytes`; a body without one (chunked)
    is counted as it streams and the request stops with 413 at the first chunk past the limit.

    Args:
        app: the ASGI app to wrap.
        max_bytes: the largest body accepted, in bytes.
        message: what the 413 answer says.
    """

    def __init__(self, app, max_bytes, message="the request body is too large"):
        self.app = app
        self.max_bytes = max_bytes
        self.message = message

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            status = 413 if declared.isdigit() else 400
            response = JSONResponse({"detail": self.message if status == 413 else "bad Content-Length"},
                                    status_code=status, headers={"Connection": "close"})
            return await response(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self.message)  # the app's handler turns it into the answer
            return message

        await self.app(scope, limited_receive, send)
