-- The `refresh` action is always offered: it asks the controller to re-read the data now.
local actions = {}
actions["refresh"] = { ["disabled"] = false, ["iconClass"] = "fa fa-fw fa-sync" }
return actions
