"""The dispatch console (调度台): `onewindow console` (docs/console.md)."""
