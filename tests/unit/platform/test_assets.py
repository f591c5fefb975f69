"""Content-hashed asset names: they change exactly when a file's bytes do."""
import re

from chalicelib.platform import assets


def test_a_hashed_name_keeps_stem_and_extension_and_follows_the_content():
    one = assets.hashed_name("site.css", b"body { color: red }")
    assert re.fullmatch(r"site\.[0-9a-f]{12}\.css", one)
    assert assets.hashed_name("site.css", b"body { color: red }") == one
    assert assets.hashed_name("site.css", b"body { color: blue }") != one


def test_every_served_file_exists_and_resolves_by_its_hashed_name_only():
    manifest = assets.manifest()
    assert set(manifest) == set(assets.MEDIA_TYPES)
    for name, asset in manifest.items():
        assert asset.body == (assets.STATIC / name).read_bytes()
        assert assets.asset_url(name) == "/assets/" + asset.hashed_name
        assert assets.find(asset.hashed_name) is asset
        assert assets.find(name) is None


def test_templates_render_the_hashed_urls():
    from chalicelib.platform.templates import render_text

    html = render_text("message.html", title="Hello")
    assert assets.asset_url("site.css") in html and 'href="/assets/site.css"' not in html


def test_with_an_asset_origin_the_urls_are_absolute_on_it(monkeypatch):
    monkeypatch.setenv("ESO_ASSETS_ORIGIN", "https://d1234.cloudfront.net")
    hashed = assets.manifest()["site.css"].hashed_name
    assert assets.asset_url("site.css") == f"https://d1234.cloudfront.net/assets/{hashed}"
    monkeypatch.delenv("ESO_ASSETS_ORIGIN")
    assert assets.asset_url("site.css") == f"/assets/{hashed}"


def test_the_icon_travels_inside_the_page_as_a_data_url():
    from urllib.parse import unquote

    from chalicelib.platform.templates import render_text

    url = assets.favicon_data_url()
    assert url.startswith("data:image/svg+xml,")
    svg = unquote(url.removeprefix("data:image/svg+xml,"))
    assert svg == assets.manifest()["favicon.svg"].body.decode().strip()
    assert not set('"<>#') & set(url.removeprefix("data:image/svg+xml,"))
    html = render_text("message.html", title="Hello")
    assert f'<link rel="icon" href="{url}"' in html and "favicon" not in html
