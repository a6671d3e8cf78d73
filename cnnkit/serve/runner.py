"""Running the app with uvicorn: `cnnkit serve` calls `serve`."""

from cnnkit.serve.app import MAX_UPLOAD_BYTES, create_app


def serve(model, host="127.0.0.1", port=8000, max_upload_bytes=MAX_UPLOAD_BYTES, log_level="warning"):
    """Serves `model` (a cnnkit model) on http://host:port until interrupted.

    Args:
        model: a cnnkit model taking images and giving class probabilities.
        host: the address to bind. Default "127.0.0.1": this machine only.
        port: the TCP port. Default 8000.
        max_upload_bytes: the largest upload accepted. Default 10 MB.
        log_level: uvicorn's log level. Default "warning".
    """
    import uvicorn

    app = create_app(model, max_upload_bytes=max_upload_bytes)
    print(f"Serving model '{model.name}' on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, access_log=False)
