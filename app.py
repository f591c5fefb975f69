"""eSO: the Chalice application. Creates the app and registers the Blueprints; nothing else."""
from chalice import Chalice

from chalicelib import workers
from chalicelib.web import (
    admin_ads,
    admin_members,
    admin_messages,
    admin_pages,
    admin_partners,
    admin_promotions,
    admin_reports,
    ads,
    api,
    fallback,
    mail_links,
    member_pages,
    members_api,
    pages,
    partner_api,
    partner_pages,
    sign_in_api,
    sign_in_pages,
    snooze,
    unsubscribe,
)
from chalicelib.web.errors import map_errors
from chalicelib.web.middleware import eso_http_middleware

app = Chalice(app_name="eso", configure_logs=False)  # Powertools formats the logs
app.register_middleware(eso_http_middleware, "http")
app.register_blueprint(api.bp)
app.register_blueprint(members_api.bp)
app.register_blueprint(sign_in_api.bp)
app.register_blueprint(ads.bp)
app.register_blueprint(pages.bp)
app.register_blueprint(member_pages.bp)
app.register_blueprint(sign_in_pages.bp)
app.register_blueprint(partner_api.bp)
app.register_blueprint(partner_pages.bp)
app.register_blueprint(unsubscribe.bp)
app.register_blueprint(mail_links.bp)
app.register_blueprint(snooze.bp)
app.register_blueprint(admin_pages.bp)
app.register_blueprint(admin_ads.bp)
app.register_blueprint(admin_partners.bp)
app.register_blueprint(admin_members.bp)
app.register_blueprint(admin_promotions.bp)
app.register_blueprint(admin_messages.bp)
app.register_blueprint(admin_reports.bp)
app.register_blueprint(workers.bp)
app.register_blueprint(fallback.bp)
map_errors(app)
