-echo sash builtins
-grep -i quick text.txt
-cmp text.txt text.txt
-ls d
-mkdir newdir
-cp text.txt newdir/copy.txt
-ls newdir
-sum text.txt
exit 0
