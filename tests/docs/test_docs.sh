#!/usr/bin/env bash
# ctest docs_links: every relative link in README.md, docs/*.md and configs/README.md resolves.
# A link's file (or folder) must exist, relative to the Markdown file that holds it; a link with a
# #fragment into a Markdown file must name an anchor that one of that file's headings produces the
# way GitHub makes them (lowercase; every character but letters, digits, spaces, hyphens and
# underscores removed; spaces to hyphens; a repeated heading gets -1, -2, ...), or an explicit
# <a name="..."> / id="...". Images count as links. Links to other sites (http:, mailto:, ...) are
# not checked; neither is anything inside fenced code blocks or `inline code`.
# usage: test_docs.sh REPO_ROOT    Prints each broken link; exit 1 if any, 0 otherwise.
set -u
shopt -s extglob nullglob
root=${1:?usage: test_docs.sh REPO_ROOT}
cd "$root" || { echo "test_docs: cannot enter $root" >&2; exit 2; }
export LC_ALL=C.UTF-8

declare -A anchors_done   # FILE -> 1 once its anchors are in $anchors
declare -A anchors        # "FILE#anchor" -> 1

# GitHub's anchor of a heading's text.
slug() {
  local s=$1
  s=${s%%+([[:space:]])}
  printf '%s' "$s" | sed -E 's/\[([^]]*)\]\([^)]*\)/\1/g' | sed -E 's/.*/\L&/; s/[^[:alnum:] _-]//g; s/ /-/g'
}

# Reads FILE's headings (outside fenced code) into $anchors.
load_anchors() {
  local file=$1 line fence="" text a
  declare -A seen=()
  anchors_done[$file]=1
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line =~ ^[[:space:]]{0,3}(\`\`\`|~~~) ]]; then
      if [ -z "$fence" ]; then fence=${BASH_REMATCH[1]}; elif [ "${BASH_REMATCH[1]}" = "$fence" ]; then fence=""; fi
      continue
    fi
    [ -n "$fence" ] && continue
    while [[ $line =~ (name|id)=\"([^\"]+)\" ]]; do
      anchors["$file#${BASH_REMATCH[2]}"]=1
      line=${line/"${BASH_REMATCH[0]}"/}
    done
    if [[ $line =~ ^[[:space:]]{0,3}#{1,6}[[:space:]]+(.*)$ ]]; then
      text=${BASH_REMATCH[1]}
      text=$(sed -E 's/[[:space:]]+#+[[:space:]]*$//' <<<"$text")
      a=$(slug "$text")
      if [ -n "${seen[$a]+x}" ]; then
        seen[$a]=$((seen[$a] + 1))
        anchors["$file#$a-${seen[$a]}"]=1
      else
        seen[$a]=0
        anchors["$file#$a"]=1
      fi
    fi
  done <"$file"
}

# Normalises a relative path: a/b/../c -> a/c, ./a -> a.
normalize() {
  local IFS=/ part out=()
  for part in $1; do
    case $part in
      ''|.) ;;
      ..) if [ ${#out[@]} -gt 0 ] && [ "${out[-1]}" != .. ]; then unset 'out[-1]'; else out+=(..); fi ;;
      *) out+=("$part") ;;
    esac
  done
  local joined="${out[*]}"
  printf '%s' "${joined:-.}"
}

broken=0
checked=0
report() { echo "broken link: $1:$2: $3 ($4)"; broken=$((broken + 1)); }

check_link() {  # FILE LINENO TARGET
  local file=$1 n=$2 target=$3 path frag dir resolved
  target=${target#<}; target=${target%>}
  case $target in
    ''|[a-zA-Z]*([a-zA-Z0-9+.-]):*) return ;;  # another site (http:, https:, mailto:, ...)
  esac
  checked=$((checked + 1))
  if [[ $target == *'#'* ]]; then path=${target%%#*}; frag=${target#*#}; else path=$target; frag=""; fi
  path=${path//%20/ }
  if [ -z "$path" ]; then
    resolved=$file
  else
    if [[ $path == /* ]]; then resolved=$(normalize "${path#/}"); else
      dir=$(dirname "$file"); resolved=$(normalize "$dir/$path"); fi
    if [ ! -e "$resolved" ]; then report "$file" "$n" "$target" "no such file: $resolved"; return; fi
  fi
  [ -z "$frag" ] && return
  case $resolved in
    *.md)
      [ -n "${anchors_done[$resolved]+x}" ] || load_anchors "$resolved"
      [ -n "${anchors["$resolved#$frag"]+x}" ] || report "$file" "$n" "$target" "no heading in $resolved gives #$frag"
      ;;
  esac
}

files=(README.md docs/*.md configs/README.md)
for file in "${files[@]}"; do
  [ -f "$file" ] || { echo "test_docs: missing $file"; broken=$((broken + 1)); continue; }
  n=0
  fence=""
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    if [[ $line =~ ^[[:space:]]{0,3}(\`\`\`|~~~) ]]; then
      if [ -z "$fence" ]; then fence=${BASH_REMATCH[1]}; elif [ "${BASH_REMATCH[1]}" = "$fence" ]; then fence=""; fi
      continue
    fi
    [ -n "$fence" ] && continue
    [[ $line == *']('* || $line == *']:'* ]] || continue
    # inline code is not a link
    [[ $line == *'`'* ]] && line=$(sed -E 's/``[^`]*``//g; s/`[^`]*`//g' <<<"$line")
    if [[ $line =~ ^[[:space:]]{0,3}\[[^]]+\]:[[:space:]]+([^[:space:]]+) ]]; then  # [label]: target
      check_link "$file" "$n" "${BASH_REMATCH[1]}"
    fi
    [[ $line == *']('* ]] || continue
    while IFS= read -r target; do
      target=${target#](}; target=${target%)}
      target=${target%% *}  # drop a "title"
      check_link "$file" "$n" "$target"
    done < <(grep -oE '\]\([^)[:space:]]*( "[^"]*")?\)' <<<"$line")
  done <"$file"
done

if [ "$broken" -gt 0 ]; then
  echo "$broken broken link(s) of $checked checked"
  exit 1
fi
echo "all $checked relative links resolve"
