"""One way to page a list: the requested page and the query strings its links need."""

from dataclasses import dataclass

from django.core.paginator import Page, Paginator


@dataclass(frozen=True)
class Paged:
    page: Page
    query: str  # the request's parameters but "page": for page links and exports of the same list
    sort_query: str  # and without "sort" either: for the column headers that sort


def paginate(request, items, *, per_page: int, count: int | None = None) -> Paged:
    """The page of `items` that `?page=` asks for (the last one if beyond, the first if not a number).

    `count`: the number of items when the caller knows it already, to spare the COUNT query.
    """
    paginator = Paginator(items, per_page)
    if count is not None:
        paginator.count = count
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return Paged(page=page, query=query.urlencode(), sort_query=sort_query.urlencode())
