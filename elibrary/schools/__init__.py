"""Schools (学校): roster accounts for pupils and teachers, their sign-in, the April roll-over, the teacher's room."""
