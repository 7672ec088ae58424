#!/bin/sh
# ctest: every Catch2 test case is run by some ctest entry. tests/CMakeLists.txt registers one
# ctest entry per tag (editlab_test); a test case whose tags are all unregistered (a new tag, a
# typo, no tag) would silently never run in CI. Lists such test cases and fails.
# usage: check_test_registry.sh EDITLAB_TESTS "~[tag1]~[tag2]..."
set -eu
left=$("$1" "$2" --list-test-names-only | sed '/^[[:space:]]*$/d')
if [ -n "$left" ]; then
  echo "test cases that no ctest entry runs (give them a tag registered with editlab_test in tests/CMakeLists.txt):"
  echo "$left"
  exit 1
fi
echo "every test case is run by a ctest entry"
