"""`cnnkit serve MODEL`: a web page to draw or drop digits and watch the model classify them, with a JSON API."""

from cnnkit.cli._model_file import open_model
from cnnkit.cli._parser import add_device_option, int_between, positive_float


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "serve", help="a web page and JSON API over a saved model (draw a digit, see the classes and Grad-CAM)",
        description="Serve a page where you draw a digit or drop an image and see the top classes, the "
                    "Grad-CAM overlay and the first convolution's activations; and a JSON API: POST "
                    "/api/predict and /api/explain (the image in the multipart field 'file'), GET /api/model, "
                    "GET /health. Needs the serve extra: pip install 'cnnkit[serve]'.")
    parser.add_argument("model", metavar="MODEL", help="a .cnnkit file (or a run folder holding model.cnnkit)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to bind (default 127.0.0.1: this machine only; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int_between(1, 65535), default=8000, help="the TCP port (default 8000)")
    parser.add_argument("--max-upload-mb", type=positive_float, default=10.0,
                        help="the largest upload, in MB; larger ones are answered 413 (default 10)")
    add_device_option(parser)
    parser.set_defaults(run=run)


def run(args):
    import cnnkit
    from cnnkit.serve import serve  # fastapi and uvicorn: a missing one is a one-line error naming it

    if args.device:
        cnnkit.set_device(args.device)
    model = open_model(args.model)
    serve(model, host=args.host, port=args.port, max_upload_bytes=int(args.max_upload_mb * 2**20))
    return 0
