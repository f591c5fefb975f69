"""eSO: the Chalice application. Creates the app and registers the Blueprints; nothing else."""
from chalice import Chalice

from chalicelib.web import ads, api, fallback, pages
from chalicelib.web.middleware import eso_http_middleware

app = Chalice(app_name="eso")
app.register_middleware(eso_http_middleware, "http")
app.register_blueprint(api.bp)
app.register_blueprint(ads.bp)
app.register_blueprint(pages.bp)
app.register_blueprint(fallback.bp)
