"""The pages' HTTP views, one module per part of the site beside its page kinds (chorus_site.pages): a page view
renders its LivePage's context; an action calls one service through `base.act`, which answers with a flash message
(htmx) or a redirect back (a plain form)."""
