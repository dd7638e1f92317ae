"""The client's address as login throttling sees it (django-axes' AXES_CLIENT_IP_CALLABLE).

Without a proxy (`TRUSTED_PROXY_COUNT=0`) it is REMOTE_ADDR. Behind N trusted proxies, each
appending the address it received from to X-Forwarded-For (nginx: `proxy_add_x_forwarded_for`),
it is the N-th address from the right: what the outermost proxy saw. Entries further left were
written by the client and are not believed.
"""

from django.conf import settings


def client_ip(request) -> str:
    """`REMOTE_ADDR`, or behind `TRUSTED_PROXY_COUNT` proxies the address the first of them saw:
    with one proxy at 10.0.0.2 and `X-Forwarded-For: 6.6.6.6, 203.0.113.7` (the first entry
    written by the client), it is 203.0.113.7."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if len(forwarded) < count:
        return remote  # not every trusted proxy wrote its entry: do not believe the header
    return forwarded[-count]
