-- Sets refsync.dev/force-sync to the current time; the refsync controller re-reads
-- the ExternalSecret's data when the annotation's value changes.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["refsync.dev/force-sync"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
