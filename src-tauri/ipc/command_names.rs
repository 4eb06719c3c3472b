// The commands the UI may invoke, shared by build.rs (permissions) and ipc (checks).
&[
    "app_info",
    "broker_status",
    "broker_start",
    "broker_stop",
    "broker_clients",
    "traffic_watch",
    "traffic_view",
    "traffic_expand",
    "traffic_expand_all",
    "traffic_clear",
    "traffic_messages",
    "traffic_delete_retained",
    "traffic_notices",
    "traffic_packets",
]
