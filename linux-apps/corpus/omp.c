/* An OpenMP program of the corpus (gcc -fopenmp -static): a parallel for with a reduction, a
 * parallel section with a critical region and a barrier, on 4 threads (the replicas see one
 * CPU: num_threads asks for 4). Its output is the same whatever the interleaving. */
#include <omp.h>
#include <stdio.h>

int main(void)
{
	long sum = 0;
	double harmonic = 0;
#pragma omp parallel for num_threads(4) reduction(+ : sum, harmonic) schedule(static)
	for (long i = 1; i <= 200000; i++) {
		sum += i % 1000;
		harmonic += 1.0 / (double)i;
	}
	printf("reduction: sum %ld, harmonic %.9f\n", sum, harmonic);

	int seen = 0, threads = 0;
#pragma omp parallel num_threads(4)
	{
#pragma omp critical
		seen |= 1 << omp_get_thread_num();
#pragma omp barrier
#pragma omp single
		threads = omp_get_num_threads();
	}
	printf("parallel: %d threads, mask %x\n", threads, seen);
	return 0;
}
