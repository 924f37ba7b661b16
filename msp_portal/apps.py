from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """Django's admin with the portal's site (msp_portal/admin_site.py), which is loaded only
    once the apps are: it reads the second-factor rule from accounts."""

    default_site = "msp_portal.admin_site.PortalAdminSite"
