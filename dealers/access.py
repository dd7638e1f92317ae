"""Access checks for views: role gates and scoped lookups, all answering 404."""

from functools import wraps

from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Dealer
from .roles import allowed


def role_required(*roles):
    """Allow superusers and holders of any of `roles`; everyone else gets 404."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not allowed(request.user, *roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def get_dealer_for_user(user, code, queryset=None):
    return get_object_or_404((Dealer.objects if queryset is None else queryset).visible_to(user), code=code)
