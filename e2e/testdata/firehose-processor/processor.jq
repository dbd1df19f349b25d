# The transform of index.js as a rheos.jq function: records upper-cased,
# "drop" Dropped, records starting "bad" ProcessingFailed.
{records: [.records[] | (.data | @base64d) as $d |
  if ($d | rtrimstr("\n")) == "drop" then {recordId, result: "Dropped"}
  elif ($d | startswith("bad")) then {recordId, result: "ProcessingFailed", data}
  else {recordId, result: "Ok", data: ($d | ascii_upcase | @base64)} end]}
