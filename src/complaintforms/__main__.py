from complaintforms.launch import main

main()
