// exit_zero: the smallest process, for the process create+exit benchmark.
int main(int, char**) { return 0; }
