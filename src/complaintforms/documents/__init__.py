"""The printed forms, by pipeline stage: `forms` (which form, filled with which values),
`render` (docx, html, pdf), `fonts` (the compact CJK face), `qrcode`, `charts`, `server`
(the warm render process), `pipeline` (a document's serial, rendering, staging) and `check`
(`forms check`)."""
