@echo off
rem OneWindow: start a screen app at logon and start it again if it ends (Windows).
rem Put a shortcut to this file in the account's Startup folder (Win+R, shell:startup),
rem and remove the lines of the apps this PC does not run. The device token is the
rem account's ONEWINDOW_TOKEN (setx ONEWINDOW_TOKEN ...), never written here.
rem Keep the screen on: powercfg /change monitor-timeout-ac 0 (docs/deployment.md).
setlocal
set ONEWINDOW=C:\OneWindow\venv\Scripts\onewindow.exe
set CA=C:\ProgramData\OneWindow\hall-ca.pem
:again
"%ONEWINDOW%" display --server wss://hub.hall.lan:8765 --ca %CA% --device D-B
rem "%ONEWINDOW%" evaluator --window B03 --server wss://hub.hall.lan:8765 --ca %CA% --fullscreen
rem "%ONEWINDOW%" caller --window B03 --server wss://hub.hall.lan:8765 --ca %CA%
rem "%ONEWINDOW%" console --server wss://hub.hall.lan:8765 --ca %CA% --fullscreen
timeout /t 5 /nobreak >nul
goto again
