"""Vietnamese short formats as the browser writes them for vi-VN (frontend/static/frontend/js/util.js
`formatTime`: "13:24 25/11/2026"), so a time written by the server — a request's history sentence
(requests/history.py) — reads like the times around it on the same page. Django's own are "H:i d-m-Y"
and, for DATETIME_FORMAT, "H:i \\N\\gà\\y d \\t\\h\\á\\n\\g n \\n\\ă\\m Y" (too long for a sentence)."""

SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "H:i d/m/Y"
