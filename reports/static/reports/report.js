// The cooperation report page: a print button (the page's print CSS does the layout).
"use strict";
document.getElementById("print-report")?.addEventListener("click", () => window.print());
