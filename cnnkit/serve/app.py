"""The FastAPI app: the page, `POST /api/predict`, `POST /api/explain`, `GET /api/model`, `GET /health`."""

import logging
from importlib import resources

from fastapi import FastAPI, File, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cnnkit.serve._images import MAX_PIXELS, BadImage
from cnnkit.serve._limits import BodySizeLimit
from cnnkit.serve._predictor import Predictor

MAX_UPLOAD_BYTES = 10 * 2**20
MULTIPART_OVERHEAD = 64 * 2**10  # boundaries and part headers around the file
PAGE_FILES = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
              "/style.css": ("style.css", "text/css")}
logger = logging.getLogger("cnnkit.serve")


def create_app(model, max_upload_bytes=MAX_UPLOAD_BYTES, max_pixels=MAX_PIXELS):
    """The web app serving `model`.

    Args:
        model: a cnnkit model taking images (None, height, width, 1 or 3), giving class probabilities.
        max_upload_bytes: the largest upload; a larger request body is answered 413 unread.
            Default 10 MB.
        max_pixels: the largest image, in pixels, read from its header before decoding. Default 25M.

    Returns:
        A FastAPI app (ASGI), for uvicorn or an in-process test client.
    """
    predictor = Predictor(model, max_pixels)
    app = FastAPI(title=f"cnnkit: {model.name}", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodySizeLimit, max_bytes=max_upload_bytes + MULTIPART_OVERHEAD,
                       message=f"the upload is over the limit of {max_upload_bytes / 2**20:.3g} MB")
    static = resources.files("cnnkit.serve") / "static"

    for path, (name, media_type) in PAGE_FILES.items():
        def page(name=name, media_type=media_type):
            with resources.as_file(static / name) as file:
                return FileResponse(file, media_type=media_type)
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/api/model")
    def model_info():
        return predictor.describe()

    @app.post("/api/predict")
    async def predict(file: UploadFile = File(...)):
        data = await _read(file, max_upload_bytes)
        return await run_in_threadpool(predictor.predict, _name(file), data)

    @app.post("/api/explain")
    async def explain(file: UploadFile = File(...)):
        data = await _read(file, max_upload_bytes)
        return await run_in_threadpool(predictor.explain, _name(file), data)

    @app.exception_handler(BadImage)
    async def bad_image(request, error):
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request, error):
        fields = sorted({".".join(str(part) for part in item.get("loc", ())[1:]) for item in error.errors()})
        return JSONResponse({"detail": "expected a multipart upload with the image in the form field 'file'",
                             "fields": [field for field in fields if field]}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, error):
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request, error):  # logged here with its traceback; the client sees no details
        logger.exception("error while answering %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    return app


async def _read(file, max_bytes):
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(413, f"the upload is over the limit of {max_bytes / 2**20:.3g} MB")
    return data


def _name(file):
    """The uploaded file's own name (no folders), as the client sent it."""
    return (file.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:200]
