// The commands the UI may invoke, shared by build.rs (permissions) and ipc (checks).
&["app_info"]
