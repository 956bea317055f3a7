# Builtins common to every shell of the corpus (nothing forks; mksh has no printf builtin):
# variables, arithmetic, functions, loops, case, redirections, read, test.
i=0
sum=0
while [ $i -lt 10 ]; do
  sum=$((sum + i * i))
  i=$((i + 1))
done
echo "sum=$sum"
f() { echo "$1-$2"; }
f a b
for w in alpha beta gamma; do
  case $w in
    a*) echo "A:$w" ;;
    *) echo "other:$w" ;;
  esac
done
n=0
while IFS= read -r line; do
  n=$((n + 1))
  last=$line
done < text.txt
echo "lines=$n last=$last"
read -r first < text.txt
echo "first=$first"
set -- x y z
echo "$# $2"
x=hello
echo "${#x} ${x%lo} ${x#he}"
test -f text.txt && echo exists
test -f missing.txt || echo missing
[ -d d ] && echo dir
echo written > out.txt
echo appended >> out.txt
while read -r l; do echo "got $l"; done < out.txt
echo "$((255 + 0x10)) $((7 * 6)) $((1 << 10)) $((17 % 5))"
echo to-stderr >&2
exit 3
