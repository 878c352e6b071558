// /api/docs: Swagger UI (vendored) over the API's schema; "Try it out" sends the page's CSRF token, since a
// logged-in browser's unsafe requests need it.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("swagger-settings").textContent);
  const csrf = document.body.dataset.csrfToken;
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  config.requestInterceptor = function (request) {
    if (csrf) request.headers["X-CSRFToken"] = csrf;
    return request;
  };
  window.ui = SwaggerUIBundle(config);
})();
