-- Runs one Argo CD resource-customization script (health.lua, discovery.lua or action.lua)
-- the way Argo CD's gopher-lua VM does: only the base, table and a safe os library
-- (os.time and os.date), `require("os")` for that safe os, the global `obj`, and no
-- string library (strings have no methods). A budget of instructions stands in for
-- Argo CD's one-second limit. Prints the script's return value as JSON on stdout.
--
-- usage: lua5.1 argocd-sandbox.lua SCRIPT OBJECT   (OBJECT: a Lua file returning the object table)

local scriptPath, objectPath = arg[1], arg[2]
local write, format, byte, gsub, sort = io.write, string.format, string.byte, string.gsub, table.sort
local loadfile, setfenv, pcall, type, pairs, ipairs, tostring, error = loadfile, setfenv, pcall, type, pairs, ipairs, tostring, error

local function fail(message)
  io.stderr:write(message, "\n")
  os.exit(2)
end

local objectChunk = loadfile(objectPath) or fail("cannot load object " .. objectPath)
local object = objectChunk()

local safeOs = { time = os.time, date = os.date }
local sandbox = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
  xpcall = xpcall, rawequal = rawequal, rawget = rawget, rawset = rawset,
  getmetatable = getmetatable, setmetatable = setmetatable,
  table = { concat = table.concat, insert = table.insert, remove = table.remove, sort = table.sort,
            getn = table.getn, maxn = table.maxn },
  os = safeOs,
  obj = object,
}
sandbox.require = function(name)
  if name == "os" then return safeOs end
  error("module '" .. tostring(name) .. "' not found")
end
sandbox._G = sandbox

local chunk, loadError = loadfile(scriptPath)
if not chunk then fail(loadError) end
setfenv(chunk, sandbox)

-- Without gopher-lua's string library, ("x"):find(...) is an error; make it one here too.
local stringMeta = debug.getmetatable("")
local stringIndex = stringMeta.__index
stringMeta.__index = {}
debug.sethook(function() error("script exceeded its time budget") end, "", 100000000)
local ok, result = pcall(chunk)
debug.sethook()
stringMeta.__index = stringIndex
if not ok then fail(tostring(result)) end

-- JSON encoding of the result (tables with keys 1..n are arrays, as gopher-lua's JSON encoder does).
local encode
local function quote(s)
  return '"' .. gsub(s, '[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or format("\\u%04x", byte(c))
  end) .. '"'
end
local function isArray(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return n > 0
end
encode = function(v)
  local kind = type(v)
  if kind == "nil" then return "null" end
  if kind == "boolean" or kind == "number" then return tostring(v) end
  if kind == "string" then return quote(v) end
  if kind ~= "table" then error("cannot encode a " .. kind) end
  local parts = {}
  if isArray(v) then
    for _, item in ipairs(v) do parts[#parts + 1] = encode(item) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = quote(k) .. ":" .. encode(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end
write(encode(result), "\n")
