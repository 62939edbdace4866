-- Argo CD health check for refsync.dev/ClusterExternalSecret.
-- GENERATED from plugin/health/health.lua.tmpl by `node scripts/health-files.ts --write`; edit the template.
-- Argo CD runs this in gopher-lua with only the base, table and a safe os library
-- (no string library, so no string methods), with a one-second limit.
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return c.reason or ""
end

-- Reasons that need a change by a person (spec, policy or backend data); retrying will not fix them.
local terminalReasons = { InvalidSpec = true, AccessDenied = true, NotFound = true }

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted"
  return hs
end

local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for first provisioning"
  return hs
end

-- A status written for an older generation says nothing about the current spec.
local observed = obj.status.observedGeneration
if observed == nil or observed ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Spec changed, not yet reconciled (generation " .. tostring(obj.metadata.generation) ..
    ", observed " .. tostring(observed) .. ")"
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

if ready.status == "False" and terminalReasons[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

-- Ready=False with a transient reason (backend outage, store not ready yet) or Ready=Unknown: retrying.
hs.status = "Progressing"
hs.message = describe(ready)
return hs
