"""The lobby wall display (`onewindow display`): ``model`` turns the client library's
HallView into plain rows and strings, ``wall`` paints them, ``cli`` runs the app.
docs/display.md shows the layouts."""
