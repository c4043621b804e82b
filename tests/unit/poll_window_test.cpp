#include "poll_window.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using vduse::PollWindow;

TEST(PollWindow, StartsAtTheFloor)
{
	EXPECT_EQ(PollWindow(400us).current(), 50us);
	// A longest window below the floor is the window.
	EXPECT_EQ(PollWindow(20us).current(), 20us);
}

TEST(PollWindow, GrowsWhileTheDriverComesBackWithinTheLongest)
{
	// The driver's next request 300 µs after the last answer.
	PollWindow w(400us);
	w.slept(250us, 0); // 50 polled + 250 slept: within 400
	EXPECT_EQ(w.current(), 100us);
	w.slept(200us, 0);
	EXPECT_EQ(w.current(), 200us);
	w.slept(100us, 0);
	EXPECT_EQ(w.current(), 400us);
	w.slept(0us, 0); // never past the longest
	EXPECT_EQ(w.current(), 400us);
}

TEST(PollWindow, ShrinksBackToTheFloorWhenIdle)
{
	PollWindow w(400us);
	for (int i = 0; i < 3; ++i)
		w.slept(10us, 0);
	ASSERT_EQ(w.current(), 400us);
	w.slept(5ms, 0); // idle: polling would have been spent for nothing
	EXPECT_EQ(w.current(), 200us);
	w.slept(1s, 0);
	w.slept(1s, 0);
	EXPECT_EQ(w.current(), 50us);
	w.slept(1s, 0);
	EXPECT_EQ(w.current(), 50us);
}

TEST(PollWindow, ZeroNeverPolls)
{
	PollWindow w(0us);
	EXPECT_EQ(w.current(), 0us);
	w.slept(1us, 0);
	EXPECT_EQ(w.current(), 0us);
	w.slept(1s, 0);
	EXPECT_EQ(w.current(), 0us);
}

TEST(PollWindow, AGapJustPastTheLongestShrinks)
{
	PollWindow w(100us);
	w.slept(50us, 0); // 50 + 50: grows
	EXPECT_EQ(w.current(), 100us);
	w.slept(1us, 0); // 100 + 1 > 100: shrinks
	EXPECT_EQ(w.current(), 50us);
}

TEST(PollWindow, WaitingForSeveralRequestsNeverGrowsIt)
{
	// A loop device's worker answering 32 requests: spinning would take its CPU.
	PollWindow w(400us);
	for (int i = 0; i < 5; ++i)
		w.slept(10us, 32);
	EXPECT_EQ(w.current(), 50us);
	// And a wait for them shrinks a window the driver grew.
	w.slept(10us, 0);
	w.slept(10us, 0);
	ASSERT_EQ(w.current(), 200us);
	w.slept(1ms, 32);
	EXPECT_EQ(w.current(), 100us);
	w.slept(10us, 2); // short, but several held: shrinks too
	EXPECT_EQ(w.current(), 50us);
}

TEST(PollWindow, WaitingForOneRequestGrowsIt)
{
	// The bridge's target answering one request at QD1 in 300 µs.
	PollWindow w(400us);
	w.slept(250us, 1);
	w.slept(200us, 1);
	w.slept(100us, 1);
	EXPECT_EQ(w.current(), 400us);
}

TEST(PollWindow, SeveralRequestsHeldPollTheShortest)
{
	PollWindow w(400us);
	for (int i = 0; i < 3; ++i)
		w.slept(10us, 0);
	ASSERT_EQ(w.current(), 400us);
	EXPECT_EQ(w.current(1), 400us);
	EXPECT_EQ(w.current(2), 50us);
	EXPECT_EQ(w.current(32), 50us);
	// And what was learnt stays for when the queue is back at QD1.
	EXPECT_EQ(w.current(0), 400us);
	// Any sleep then halves what QD1 taught it.
	w.slept(10us, 32);
	EXPECT_EQ(w.current(0), 200us);
	EXPECT_EQ(PollWindow(20us).current(32), 20us);
}
