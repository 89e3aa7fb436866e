// Starts Swagger UI on the document the page names. A file, not an inline script: the page's
// Content-Security-Policy runs only this server's scripts. No validator: nothing leaves the server.
"use strict";

const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: root.dataset.url, domNode: root, deepLinking: true, validatorUrl: null });
