"""What the Content-Security-Policy (script-src/style-src 'self', no 'unsafe-inline') would refuse
in a page: inline script, on* handlers, style attributes and <style> blocks."""

from html.parser import HTMLParser

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}  # data, never run (json_script)


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name == "style" or (name.startswith("on") and len(name) > 2):
                self.found.append(f"<{tag} {name}=…>")
        if (
            tag == "script"
            and "src" not in attrs
            and (attrs.get("type") or "").lower() not in DATA_SCRIPT_TYPES
        ):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        if tag == "a" and (attrs.get("href") or "").strip().lower().startswith("javascript:"):
            self.found.append("<a href=javascript:…>")


def inline_code(html: str) -> list[str]:
    """What in `html` the policy would refuse, e.g. ['<div style=…>']; [] for none.

    >>> inline_code('<p style="x">a</p><script src="/s.js"></script><script type="application/json">{}</script>')
    ['<p style=…>']
    >>> inline_code('<button onclick="go()">go</button><script>go()</script><style>p{}</style>')
    ['<button onclick=…>', '<script> without src', '<style>']
    """
    finder = _Finder()
    finder.feed(html)
    return finder.found
