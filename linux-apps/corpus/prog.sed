s/quick/slow/g
/zebras/d
$a\
the end
