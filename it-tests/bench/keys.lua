-- wrk script: POSTs the benchmark's chat completion, cycling through the keys in $KEYS_FILE.
local keys = {}
local file = os.getenv("KEYS_FILE")
if file then
  for line in io.lines(file) do
    if #line > 0 then keys[#keys + 1] = line end
  end
end
if #keys == 0 then keys[1] = "none" end
local i = 0
local body = '{"model":"bench-model","messages":[{"role":"user","content":"Hello world, how are you today?"}]}'

request = function()
  i = i % #keys + 1
  return wrk.format("POST", "/chat/completions",
    { ["Authorization"] = "Bearer " .. keys[i], ["Content-Type"] = "application/json" }, body)
end
