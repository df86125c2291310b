; Inno Setup script of Parsec Tray for Windows: a per-user install (no
; administrator rights) of the frozen app that PyInstaller builds from
; installers/freeze/parsec-tray.spec into dist\parsec-tray\.
;
;     pyinstaller --noconfirm installers\freeze\parsec-tray.spec
;     iscc installers\windows\parsec-tray.iss      (Inno Setup 6)
;
; Registers, under HKEY_CURRENT_USER\Software\Classes (what a per-user app
; may write; removed again by the uninstaller):
;   - the parsec3: URL scheme ("URL Protocol", shell\open\command "%1"),
;   - .psrk recovery files (ProgID ParsecTray.RecoveryFile, the app's icon),
;   - the app under Applications\parsec-tray.exe with its supported types.
; Written from the Inno Setup documentation and Microsoft's "Registering an
; Application to a URI Scheme" and "File Types" pages; never run here (no
; Windows): tests/test_frozen.py checks only that it names the same scheme,
; extension and program as the rest of the project.

#define AppName "Parsec Tray"
#define AppVersion "0.1.0"
#define AppExe "parsec-tray.exe"
#define ProgId "ParsecTray.RecoveryFile"

[Setup]
AppId={{6F1D2C55-3B7E-4C1A-9E2D-7A5B0C3F8E41}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Parsec Tray
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
SetupIconFile=..\..\icons\parsec-tray.ico
UninstallDisplayIcon={app}\{#AppExe}
OutputDir=..\..\dist
OutputBaseFilename=parsec-tray-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "fr"; MessagesFile: "compiler:Languages\French.isl"

[Files]
Source: "..\..\dist\parsec-tray\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Registry]
; parsec3:// links
Root: HKCU; Subkey: "Software\Classes\parsec3"; ValueType: string; ValueName: ""; ValueData: "URL:Parsec link"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\parsec3"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKCU; Subkey: "Software\Classes\parsec3\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"",0"
Root: HKCU; Subkey: "Software\Classes\parsec3\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; .psrk recovery files
Root: HKCU; Subkey: "Software\Classes\.psrk"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.psrk"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-parsec-recovery-file"; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.psrk\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "Parsec recovery file"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"",0"
Root: HKCU; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; The app, as "Open with" lists it
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExe}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".psrk"; ValueData: ""
Root: HKCU; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; Start at login is the app's own choice (its menu), written by it under
; HKCU\...\Run; removed here with the app.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: none; ValueName: "Parsec Tray"; Flags: uninsdeletevalue dontcreatekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
; Device files (%APPDATA%\parsec3) and settings (%APPDATA%\parsec-tray) are
; the person's, never removed.
