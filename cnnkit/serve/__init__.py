"""The web page and JSON API over a saved model: `cnnkit serve MODEL`.

FastAPI and uvicorn come with the `serve` extra (`pip install "cnnkit[serve]"`); importing this
package imports them.

Example:
    >>> from cnnkit.serve import create_app
    >>> from cnnkit.recipes import seed_convnet
    >>> app = create_app(seed_convnet())
    >>> sorted(route.path for route in app.routes if route.path.startswith("/api"))
    ['/api/explain', '/api/model', '/api/predict']
"""

from cnnkit.serve.app import create_app
from cnnkit.serve.runner import serve

__all__ = ["create_app", "serve"]
