#!/usr/bin/env bash
# Differential test over Wycheproof-format files: every provider must give every test case the
# same Result (so the same verdict). Prints each case where they differ, with each provider's
# Result, and fails; prints the number of cases compared otherwise.
#   differential_vectors.sh TOOL PROVIDER,PROVIDER[,...] FILE...   (FILE may be a directory)
set -euo pipefail
tool=$1
IFS=, read -r -a providers <<<"$2"
shift 2
files=()
for arg in "$@"; do
  if [[ -d $arg ]]; then files+=("$arg"/*_test.json); else files+=("$arg"); fi
done
[[ ${#files[@]} -gt 0 && -e ${files[0]} ]] || { echo "no vector files" >&2; exit 1; }
[[ ${#providers[@]} -ge 2 ]] || { echo "want at least two providers" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for provider in "${providers[@]}"; do
  # Exit 1 (a failed vector) still yields per-case results to compare; 2 means no results.
  status=0
  "$tool" --results --provider "$provider" "${files[@]}" >"$work/$provider.out" || status=$?
  if [[ $status -eq 2 ]]; then
    echo "hvsig-vectors --provider $provider could not run:" >&2
    cat "$work/$provider.out" >&2
    exit 1
  fi
  # "<file>: tcId <n>: <Result>" -> "<file>: tcId <n>\t<Result>"
  sed -n 's/^\(.*: tcId [0-9]*\): \([A-Za-z0-9]*\)$/\1\t\2/p' "$work/$provider.out" |
    sort >"$work/$provider.results"
done

first=${providers[0]}
joined="$work/$first.results"
for provider in "${providers[@]:1}"; do
  # A case one provider ran and another did not is a difference too (-a1 -a2 -e MISSING).
  join -t $'\t' -a1 -a2 -e MISSING -o auto "$joined" "$work/$provider.results" >"$work/joined.next"
  mv "$work/joined.next" "$work/joined"
  joined="$work/joined"
done

header=$(IFS=' '; echo "${providers[*]}")
differences=$(awk -F'\t' -v names="$header" '
  BEGIN { n = split(names, name, " ") }
  { same = 1; for (i = 3; i <= NF; i++) if ($i != $2) same = 0
    if (!same) { line = $1 ":"; for (i = 2; i <= NF; i++) line = line " " name[i - 1] "=" $i; print line } }
' "$joined")
cases=$(wc -l <"$joined")
if [[ -n $differences ]]; then
  echo "providers differ:"
  printf '%s\n' "$differences"
  echo "$(printf '%s\n' "$differences" | wc -l) of $cases cases differ"
  exit 1
fi
[[ $cases -gt 0 ]] || { echo "no test cases were run" >&2; exit 1; }
echo "$cases cases, same Result from ${providers[*]}"
