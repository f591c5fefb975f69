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
